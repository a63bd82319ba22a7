"""The router: decides which operator of a line gets each waiting conversation."""
