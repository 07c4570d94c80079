// BrokerConfig: configuration model and parser.
