"""pointillist.color"""
