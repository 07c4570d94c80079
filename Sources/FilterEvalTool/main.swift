print("filter-eval")
