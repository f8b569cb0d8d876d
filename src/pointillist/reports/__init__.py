"""pointillist.reports"""
