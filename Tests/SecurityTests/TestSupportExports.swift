// The shared fixtures (TemporaryDirectory, TLSTestCertificates) live in TestSupport so other test
// targets use the same ones; re-exported here so this target's files need no import of their own.

@_exported import TestSupport
