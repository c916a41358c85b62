"""Where chiso's own requests may go (webhook receivers, pull sources): not to an address no
receiver or source of ours has and a cloud's metadata service does.

:func:`unroutable` judges a URL's host by every address it stands for: a literal address in
any spelling the resolver accepts ("169.254.169.254", "2852039166", "0xa9fea9fe",
"169.254.43518") and a name by what it resolves to. Link-local (169.254/16, fe80::/10),
multicast, unspecified ("0", "0.0.0.0", "::") and reserved addresses are refused; loopback and
private networks stay allowed, because a city's receivers and sources sit on its own network.
Callers check when an address is saved and again before each request (a name may resolve
elsewhere later).
"""

from __future__ import annotations

import ipaddress
import socket


def unroutable(host: str) -> str | None:
    """The address ``host`` stands for that no request of chiso's may reach, or None. A name
    that does not resolve here is not judged (it cannot be reached either)."""
    host = host.strip("[]")
    try:
        found = {str(info[4][0]) for info in socket.getaddrinfo(host, None)}
    except (socket.gaierror, UnicodeError, ValueError):
        return None
    for address in sorted(found):
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if ip.is_link_local or ip.is_multicast or ip.is_unspecified or ip.is_reserved:
            return address
    return None
