// BrokerWire: ring buffers, framing, JSON — see files in this folder.
