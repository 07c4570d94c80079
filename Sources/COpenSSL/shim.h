// The one OpenSSL shim: HMAC, PBKDF2, SHA-1, base64, Ed25519 (EVP), CSPRNG and TLS.
// Swift code reaches it only through the BrokerSecurity target.
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <openssl/rand.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <openssl/err.h>
