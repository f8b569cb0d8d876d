"""pointillist.web"""
