// CNats: the official NATS C client (Debian libnats-dev, pkg-config `libnats`). Only the
// BrokerCluster target imports it; everything NATS-specific stays behind that target.
#include <nats/nats.h>
