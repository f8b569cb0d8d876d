"""pointillist.domain"""
