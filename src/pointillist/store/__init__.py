"""pointillist.store"""
