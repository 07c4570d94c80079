// BrokerSerialization
