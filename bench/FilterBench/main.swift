print("filter-bench")
