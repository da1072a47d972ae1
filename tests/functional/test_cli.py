"""The `kaon` command: schema checks at start-up and the generated config."""

import sqlalchemy

from tests.support.server import KaonServer


def test_server_refuses_an_unmigrated_database_and_says_what_to_run():
    server = KaonServer()
    result = server.kaon('server', check=False)
    assert result.returncode == 2
    assert 'run "kaon db upgrade"' in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_server_refuses_a_newer_schema():
    server = KaonServer()
    server.kaon('db', 'upgrade')
    engine = sqlalchemy.create_engine(f'sqlite:///{server.state}/kaon.sqlite')
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num='9999'")
    engine.dispose()
    result = server.kaon('server', check=False)
    assert result.returncode == 2
    assert 'newer than this kaon' in result.stderr


def test_db_upgrade_twice_is_harmless():
    server = KaonServer()
    first = server.kaon('db', 'upgrade')
    second = server.kaon('db', 'upgrade')
    assert first.stdout == second.stdout
    assert 'at revision' in second.stdout


def test_config_sample_is_generated_from_the_option_definitions():
    sample = KaonServer().kaon('config-sample').stdout
    for section, option in [('DEFAULT', 'bind_host'), ('DEFAULT', 'base_mac'),
                            ('DEFAULT', 'api_workers'),
                            ('DEFAULT', 'dhcp_agents_per_network'),
                            ('database', 'connection'),
                            ('quotas', 'quota_port')]:
        assert f'[{section}]' in sample
        assert f'#{option} = ' in sample
    assert '#bind_port = 9696' in sample
