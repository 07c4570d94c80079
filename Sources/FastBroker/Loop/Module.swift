// BrokerLoop
