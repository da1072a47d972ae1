"""sg_member_ips with allowed address pairs, on SQLite and PostgreSQL (its
query is a UNION of fixed IPs and pairs: the NULL MAC column must unite
with the pairs' MACs on both)."""
from __future__ import annotations

import os
import uuid
from typing import Iterator

import pytest

from kaon import conf
from kaon.db import migrate
from kaon.db.engine import Database
from kaon.plugin import sg_info
from kaon.plugin.core import Plugin
from tests.functional.test_sg_rpc import _group, _rule
from tests.support.plugin import network_with_subnet, new_port


@pytest.fixture(params=['sqlite', pytest.param(
    'postgres', marks=pytest.mark.postgres)])
def plugin(request: pytest.FixtureRequest, tmp_path) -> Iterator[Plugin]:
    if request.param == 'postgres':
        pg = request.getfixturevalue('pg_cluster')
        url = pg.create_database('kaon_' + uuid.uuid4().hex[:12])
    else:
        url = 'sqlite:///' + os.path.join(tmp_path, 'kaon.sqlite')
    conf.load()
    db = Database(url)
    migrate.upgrade(db.engine)
    yield Plugin(db)
    db.dispose()


def test_member_ips_include_allowed_address_pairs(plugin):
    """Neutron's _select_ips_for_remote_group: a member's fixed IPs as
    [ip, None], its allowed address pairs (addresses or CIDRs) as
    [ip, mac], each under its ethertype."""
    net, _ = network_with_subnet(plugin, '10.67.0.0/24')
    web, db = _group(plugin, 'web'), _group(plugin, 'db')
    _rule(plugin, web, remote_group_id=db['id'])
    _rule(plugin, web, ethertype='IPv6', remote_group_id=db['id'])
    vm = new_port(plugin, net, security_groups=[web['id']])
    peer = new_port(plugin, net, security_groups=[db['id']],
                    allowed_address_pairs=[
                        {'ip_address': '10.67.0.200'},
                        {'ip_address': '10.68.0.0/24',
                         'mac_address': 'fa:16:3e:00:00:99'},
                        {'ip_address': '2001:db8::5'}])
    with plugin.db.reading() as conn:
        info = sg_info.info_for_ports(conn, [vm['id']])
    mac = peer['mac_address']
    assert info['sg_member_ips'] == {db['id']: {
        'IPv4': sorted([[peer['fixed_ips'][0]['ip_address'], None],
                        ['10.67.0.200', mac],
                        ['10.68.0.0/24', 'fa:16:3e:00:00:99']], key=str),
        'IPv6': [['2001:db8::5', mac]]}}
