// The `fastbroker` command line: run the broker, validate a config, manage the user database.

import ArgumentParser
import BrokerConfig
import BrokerSecurity
import FastBroker
import Foundation
import Logging

@main
struct FastBrokerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fastbroker",
        abstract: "A fast WAMP v2 broker.",
        subcommands: [UserCommand.self, CheckConfigCommand.self])

    @Option(name: .long, help: "JSON configuration file (default: the embedded default configuration).")
    var config: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func run() throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let log = Logger(label: "fastbroker")
        let configuration: BrokerConfiguration
        if let config {
            do {
                configuration = try BrokerConfiguration.load(path: config)
            } catch {
                FileHandle.standardError.write(Data("fastbroker: invalid configuration \(config):\n\(error)\n".utf8))
                throw ExitCode(2)
            }
            print("fastbroker: configuration \(config)\n\(configuration.summary)")
        } else {
            configuration = .default
            print("fastbroker: no --config given; using the embedded default configuration:\n\(BrokerConfiguration.defaultJSON)")
        }
        print("allocator: \(Allocator.jemallocVersion.map { "jemalloc \($0)" } ?? "system malloc (jemalloc NOT in use)")")
        if let purging = Allocator.returnFreedPagesPromptly() { print("allocator: \(purging)") }
        fflush(nil)
        let server = try BrokerServer(configuration: configuration, log: log)
        do {
            try server.start()
        } catch {
            FileHandle.standardError.write(Data("fastbroker: cannot start: \(error)\n".utf8))
            throw ExitCode(1)
        }
        server.run()
    }
}

struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config", abstract: "Validate a configuration file; print every error with its JSON path.")

    @Argument(help: "The configuration file.")
    var path: String?

    @Flag(name: .long, help: "Print the default limits (every key of \"limits\") and exit.")
    var defaults = false

    func validate() throws {
        if path == nil && !defaults { throw ValidationError("give a configuration file, or --defaults") }
    }

    func run() throws {
        if defaults {
            print("{\"limits\": \(LimitsConfig().json)}")
            if path == nil { return }
        }
        guard let path else { return }
        do {
            let configuration = try BrokerConfiguration.load(path: path)
            print("\(path): OK\n\(configuration.summary)")
        } catch {
            print("\(path): invalid\n\(error)")
            throw ExitCode(1)
        }
    }
}

struct UserCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user", abstract: "Manage a user database (wampcra, ticket, cryptosign).", subcommands: [AddUser.self])

    struct AddUser: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add",
            abstract: "Add a user or update its role and credentials; passwords and tickets are stored only as "
                + "salted PBKDF2 keys. With no credential option, prompts for a password.")

        @Option(name: .long, help: "The user database file (created if missing).") var userdb: String
        @Option(name: .long, help: "The user's authid.") var authid: String
        @Option(name: .long, help: "The user's role.") var role: String
        @Flag(name: .long, help: "Read the WAMP-CRA password from the first line of standard input.") var passwordStdin = false
        @Flag(name: .long, help: "Read the ticket from standard input (the line after the password, if both are read).")
        var ticketStdin = false
        @Option(name: .long, help: "Add this Ed25519 public key (64 hex digits) for cryptosign.") var cryptosignPubkey: String?
        @Option(name: .long, help: "PBKDF2 iterations.") var iterations: Int = 10_000

        func validate() throws {
            guard iterations >= 1 && iterations <= 10_000_000 else {
                throw ValidationError("--iterations must be between 1 and 10000000")
            }
            guard !authid.isEmpty else { throw ValidationError("--authid must not be empty") }
            guard !role.isEmpty else { throw ValidationError("--role must not be empty") }
            if let cryptosignPubkey, cryptosignPubkey.utf8.count != 64 || Hex.decode(cryptosignPubkey) == nil {
                throw ValidationError("--cryptosign-pubkey must be an Ed25519 public key: 64 hex digits")
            }
        }

        func run() throws {
            var password: String?
            if passwordStdin {
                password = try readSecretLine("password")
            } else if !ticketStdin && cryptosignPubkey == nil {
                guard let entered = getpass("Password for \(authid): ") else {
                    throw ValidationError("cannot read a password; use --password-stdin")
                }
                password = String(cString: entered)
                guard !password!.isEmpty else { throw ValidationError("the password must not be empty") }
            }
            let ticket = ticketStdin ? try readSecretLine("ticket") : nil
            let key = cryptosignPubkey.flatMap { Hex.decode($0) }
            try UserDatabase.addUser(path: userdb, authid: authid, role: role, password: password, ticket: ticket,
                                     cryptosignKey: key, iterations: iterations)
            let kinds = [password.map { _ in "password" }, ticket.map { _ in "ticket" }, key.map { _ in "cryptosign key" }]
            print("user \(authid) (role \(role), \(kinds.compactMap { $0 }.joined(separator: ", "))) written to \(userdb)")
        }

        /// One non-empty line of standard input (its newline dropped).
        private func readSecretLine(_ what: String) throws -> String {
            guard let line = readLine(strippingNewline: true) else {
                throw ValidationError("no \(what) on standard input")
            }
            guard !line.isEmpty else { throw ValidationError("the \(what) must not be empty") }
            return line
        }
    }
}
