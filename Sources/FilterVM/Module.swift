// FilterVM
