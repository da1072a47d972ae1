"""The sample configs of README's "Running on several hosts"
(etc/multihost/*.conf) name only options kaon has, with values they
parse to: oslo.config ignores an unknown option silently, so a typo in
a sample would go unnoticed by everyone who copies it."""
from __future__ import annotations

import configparser
import glob
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
SAMPLES = sorted(glob.glob(os.path.join(ROOT, 'etc', 'multihost', '*.conf')))

# Run in a child: it loads the file into kaon's global CONF, with every
# option the server and the agents register.
CHECK = """
import configparser, sys
from kaon import conf
import kaon.plugin.type_drivers  # noqa: F401  ([ml2], [ml2_type_*])
from kaon.agent.l2 import options
options.register(conf.CONF)
conf.register_messaging_opts()
conf.load(config_files=[sys.argv[1]])
parser = configparser.ConfigParser()
parser.read(sys.argv[1])
for section in ['DEFAULT'] + parser.sections():
    group = conf.CONF if section == 'DEFAULT' else conf.CONF[section]
    own = parser[section] if section == 'DEFAULT' else {
        k: v for k, v in parser[section].items()
        if k not in parser.defaults()}
    for key in own:
        print(section, key, repr(group[key]))
"""


def test_there_are_samples() -> None:
    names = {os.path.basename(p) for p in SAMPLES}
    assert names == {'server.conf', 'network-node.conf',
                     'compute-node.conf'}


@pytest.mark.parametrize('path', SAMPLES, ids=os.path.basename)
def test_sample_names_known_options(path: str) -> None:
    result = subprocess.run([sys.executable, '-c', CHECK, path],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    parser = configparser.ConfigParser()
    parser.read(path)
    checked = {tuple(line.split()[:2]) for line in
               result.stdout.splitlines()}
    for section in ['DEFAULT'] + parser.sections():
        for key in parser[section]:
            if section == 'DEFAULT' or key not in parser.defaults():
                assert (section, key) in checked, (section, key)
