// libuv, imported whole. Swift code reaches it only through the BrokerLoop target.
#include <uv.h>
