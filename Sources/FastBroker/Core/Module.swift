// FastBroker core.
