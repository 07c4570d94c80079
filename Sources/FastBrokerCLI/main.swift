print("fastbroker")
