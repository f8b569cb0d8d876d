"""pointillist.imaging"""
