"""The range allocator against a real SQLite file (no mocks)."""
import ipaddress

import pytest
from sqlalchemy import insert, select

from kaon.db import migrate, models
from kaon.db.engine import Database
from kaon.ipam import allocator, ranges


@pytest.fixture
def db(tmp_path):
    database = Database(f'sqlite:///{tmp_path}/ipam.sqlite')
    migrate.upgrade(database.engine)
    yield database
    database.dispose()


def make_subnet(db, cidr, gateway):
    net = ipaddress.ip_network(cidr)
    pools = ranges.default_pools(net, gateway)

    def work(conn):
        now = models.networks.c.created_at.type.python_type.now()
        std = dict(description='', created_at=now, updated_at=now,
                   revision_number=0)
        conn.execute(insert(models.networks).values(
            id='n1', project_id='p', name='', status='ACTIVE',
            admin_state_up=True, shared=False, external=False, mtu=1500,
            **std))
        conn.execute(insert(models.subnets).values(
            id='s1', project_id='p', network_id='n1', name='',
            ip_version=net.version, cidr=cidr, gateway_ip=gateway,
            enable_dhcp=True, **std))
        conn.execute(insert(models.allocation_pools), [
            {'subnet_id': 's1', 'first_ip': ranges.to_ip(p.first, 4),
             'last_ip': ranges.to_ip(p.last, 4)} for p in pools])
        allocator.store_ranges(conn, 's1', pools)
    db.write(work)


def free_ranges(db):
    with db.reading() as conn:
        rows = conn.execute(select(models.availability_ranges).order_by(
            models.availability_ranges.c.first_key)).all()
    return [ranges.format_range(ranges.Range(
        ranges.key_value(r.first_key), ranges.key_value(r.last_key)), 4)
        for r in rows]


def test_takes_lowest_then_exhausts(db):
    make_subnet(db, '10.0.0.0/29', '10.0.0.1')
    taken = [db.write(lambda c: allocator.take_any(c, 's1', 4))
             for _ in range(6)]
    assert taken == ['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5',
                     '10.0.0.6', None]


def test_specific_address_splits_and_release_merges(db):
    make_subnet(db, '10.0.0.0/24', '10.0.0.1')
    db.write(lambda c: allocator.take_specific(c, 's1', '10.0.0.50'))
    assert free_ranges(db) == ['10.0.0.2-10.0.0.49', '10.0.0.51-10.0.0.254']
    db.write(lambda c: allocator.give_back(c, 's1', '10.0.0.50'))
    assert free_ranges(db) == ['10.0.0.2-10.0.0.254']


def test_address_outside_pools_is_not_given_back(db):
    make_subnet(db, '10.0.0.0/24', '10.0.0.1')
    db.write(lambda c: allocator.give_back(c, 's1', '10.0.0.1'))
    assert free_ranges(db) == ['10.0.0.2-10.0.0.254']


def test_rebuild_keeps_allocated_addresses_out(db):
    make_subnet(db, '10.0.0.0/24', '10.0.0.1')

    def allocate_two(conn):
        now = models.ports.c.created_at.type.python_type.now()
        for i, address in enumerate(('10.0.0.10', '10.0.0.12')):
            conn.execute(insert(models.ports).values(
                id=f'port{i}', project_id='p', network_id='n1', name='',
                mac_address=f'fa:16:3e:00:00:0{i}', admin_state_up=True,
                status='DOWN', device_id='', device_owner='', host='',
                vnic_type='normal', description='', created_at=now,
                updated_at=now, revision_number=0))
            conn.execute(insert(models.ip_allocations).values(
                subnet_id='s1', ip_address=address, port_id=f'port{i}',
                network_id='n1', ip_key=ranges.ip_key(address)))
    db.write(allocate_two)
    pools = ranges.parse_pools(ipaddress.ip_network('10.0.0.0/24'),
                               [{'start': '10.0.0.5', 'end': '10.0.0.15'}])
    db.write(lambda c: allocator.rebuild_ranges(c, 's1', pools))
    assert free_ranges(db) == ['10.0.0.5-10.0.0.9', '10.0.0.11-10.0.0.11',
                               '10.0.0.13-10.0.0.15']
