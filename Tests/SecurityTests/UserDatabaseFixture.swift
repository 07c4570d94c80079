// Temporary userdb files for the tests: each test gets its own directory, removed afterwards.

import Foundation
import XCTest
@testable import BrokerSecurity

