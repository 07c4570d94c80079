print("fastbench")
