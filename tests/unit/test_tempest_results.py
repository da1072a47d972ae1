"""How the Tempest harness reads results: subunit events -> per-test
outcomes of the selection (tests/support/tempest.py)."""
from __future__ import annotations

from tests.support.tempest import Outcome, collate, failure_summary

CLASS = 'tempest.api.network.test_ports.PortsTestJSON'
TRACEBACK = '''Traceback (most recent call last):
  File "/venv/tempest/api/network/test_ports.py", line 40, in test_show
    body = self.client.show_port(port_id)
           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/venv/tempest/lib/common/rest_client.py", line 917, in _error
    raise exceptions.NotFound(resp_body, resp=resp)
tempest.lib.exceptions.NotFound: Object not found
Details: {'type': 'HTTP404NotFound', 'message': '404 Not Found'}
'''


def event(status: str, reason: str = '', traceback: str = '') -> dict:
    return {'status': status, 'reason': reason, 'traceback': traceback}


def test_failure_summary_is_the_exception_and_its_details() -> None:
    assert failure_summary(TRACEBACK) == (
        'tempest.lib.exceptions.NotFound: Object not found | '
        "Details: {'type': 'HTTP404NotFound', 'message': '404 Not Found'}")


def test_failure_summary_keeps_an_assertion_diff() -> None:
    traceback = ('Traceback (most recent call last):\n'
                 '  File "/venv/case.py", line 703, in fail\n'
                 '    raise self.failureException(msg)\n'
                 "AssertionError: {'a': 1} != {'a': 2}\n"
                 "- {'a': 1}\n"
                 "+ {'a': 2}\n")
    assert failure_summary(traceback) == (
        "AssertionError: {'a': 1} != {'a': 2} | - {'a': 1} | + {'a': 2}")


def test_collate_by_bare_id_and_by_class() -> None:
    raw = {
        f'{CLASS}.test_ok[id-1,smoke]': event('success'),
        f'{CLASS}.test_broken[id-2]': event('fail', traceback=TRACEBACK),
        f'{CLASS}.test_skip[id-3]': event('skip', 'no ext\n'),
        'setUpClass (tempest.api.network.test_x.SkippedTest)':
            event('skip', 'security-group extension not enabled.'),
        'tearDownClass (tempest.api.network.test_ports.PortsTestJSON)':
            event('fail', traceback=TRACEBACK),
    }
    results = collate([f'{CLASS}.test_ok', f'{CLASS}.test_broken',
                       f'{CLASS}.test_skip',
                       'tempest.api.network.test_x.SkippedTest.test_a',
                       'tempest.api.network.test_y.Missing.test_b'], raw)
    assert results.counts() == {'passed': 1, 'failed': 2, 'skipped': 2}
    assert results.outcomes[f'{CLASS}.test_skip'] == Outcome('skipped',
                                                             'no ext')
    assert results.outcomes[
        'tempest.api.network.test_x.SkippedTest.test_a'] == Outcome(
        'skipped', 'security-group extension not enabled.')
    assert results.outcomes[
        'tempest.api.network.test_y.Missing.test_b'].status == 'failed'
    assert results.outcomes[f'{CLASS}.test_broken'].detail.startswith(
        'tempest.lib.exceptions.NotFound')
    assert list(results.class_errors) == [
        'tearDownClass (tempest.api.network.test_ports.PortsTestJSON)']
