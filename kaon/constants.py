"""Facts shared by the server and the agents, defined once."""

# RFC 8200 section 5: every link that carries IPv6 has an MTU of at least
# 1280; Linux turns IPv6 off on an interface below it.
IPV6_MIN_MTU = 1280
