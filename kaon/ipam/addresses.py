"""The one parser of IP addresses, CIDRs and MACs: strict, and canonical.

Every address that reaches kaon (request bodies, query filters, what an
agent asks for over RPC) goes through here, so that one address has one
spelling in the database and in the files dnsmasq reads.

Python's `ipaddress` alone is too lenient for that: it takes an IPv6 scope
ID after `%` holding anything, newlines and commas included (one such value
in a host file is a new dnsmasq line), and IPv6Network takes netmask and
zero-padded prefix forms.  Here an address is plain ASCII hex digits, dots
and colons, nothing around it; the canonical form is what `str()` of the
parsed address gives (RFC 5952 for IPv6).
"""
from __future__ import annotations

import ipaddress
import re

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# The longest textual address: IPv6 with an embedded IPv4 part
# (ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255).
_MAX_IP_TEXT = 45
_IP_TEXT = re.compile(r'[0-9A-Fa-f:.]+')
_PREFIX = re.compile(r'0|[1-9][0-9]{0,2}')
_HEX2 = '[0-9A-Fa-f]{2}'
_HEX4 = '[0-9A-Fa-f]{4}'
# The MAC forms netaddr's EUI-48 dialects print and Neutron accepts: colons
# or dashes (one kind per address), bare hex, and Cisco's dotted form.
_MAC_FORMS = [re.compile(f'{_HEX2}(?:{sep}{_HEX2}){{5}}') for sep in ':-'] + \
    [re.compile('[0-9A-Fa-f]{12}'), re.compile(rf'{_HEX4}(?:\.{_HEX4}){{2}}')]


class BadAddress(ValueError):
    """The text is not an address kaon accepts; str() says why."""


def shown(value: object) -> str:
    """A refused value as error messages quote it (the API's validators
    too): the first 64 characters, never a whole megabyte."""
    text = str(value)
    return text if len(text) <= 64 else text[:64] + '...'


def parse_ip(text: object) -> IPAddress:
    """An IPv4 or IPv6 address in a strict textual form.

    IPv4 is dotted decimal without leading zeros (an octal reading would
    be another address); IPv6 is any RFC 4291 spelling, without a zone.
    """
    if not isinstance(text, str) or len(text) > _MAX_IP_TEXT or \
            not _IP_TEXT.fullmatch(text):
        raise BadAddress(f"'{shown(text)}' is not a valid IP address")
    try:
        if ':' in text:
            return ipaddress.IPv6Address(text)
        return ipaddress.IPv4Address(text)
    except ValueError:
        raise BadAddress(f"'{text}' is not a valid IP address") from None


def canonical_ip(text: object) -> str:
    return str(parse_ip(text))


def parse_cidr(text: object) -> IPNetwork:
    """`address/prefixlen` naming a network (no host bits set).

    A non-canonical IPv6 spelling of the network is accepted (its canonical
    form is what is stored); host bits are refused with the network
    recommended, as neutron-lib's validate_subnet words it.
    """
    address, sep, prefix = text.partition('/') if isinstance(text, str) \
        else ('', '', '')
    try:
        if not sep or not _PREFIX.fullmatch(prefix):
            raise ValueError
        interface = ipaddress.ip_interface(f'{parse_ip(address)}/{prefix}')
    except ValueError:
        raise BadAddress(f"'{shown(text)}' is not a valid IP subnet") \
            from None
    net = interface.network
    if interface.ip != net.network_address:
        raise BadAddress(f"'{text}' isn't a recognized IP subnet cidr, "
                         f"'{net}' is recommended")
    return net


def canonical_cidr(text: object) -> str:
    return str(parse_cidr(text))


def canonical_mac(text: object) -> str:
    """A unicast, non-zero MAC in lower-case colon form (what Neutron's
    convert_to_sanitized_mac_address gives)."""
    if not isinstance(text, str) or \
            not any(form.fullmatch(text) for form in _MAC_FORMS):
        raise BadAddress(f"'{shown(text)}' is not a valid MAC address")
    digits = re.sub('[^0-9A-Fa-f]', '', text).lower()
    octets = [int(digits[i:i + 2], 16) for i in range(0, 12, 2)]
    if octets[0] & 1:
        raise BadAddress(f"'{text}' is a multicast MAC address")
    if not any(octets):
        raise BadAddress(f"'{text}' is the all-zero MAC address")
    return ':'.join(f'{o:02x}' for o in octets)
