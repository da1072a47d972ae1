"""VM records: one small JSON file per VM under <state_path>/vms/.

The record is what the compute side must remember across restarts (the
port and the names of the namespace and NIC); everything else (IPs, lease,
state) is read live from the API and from the namespace.  The directory is
root's alone (0700): records, console logs and leases are nobody else's.
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
from typing import Any

from kaon import naming, state_files
from kaon.compute.guest import Guest


@dataclasses.dataclass
class Vm:
    name: str
    id: str
    network_id: str
    port_id: str
    mac: str
    namespace: str
    tap: str


class NoSuchVm(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(f'No VM named {name}')


class VmStore:
    def __init__(self, conf: Any) -> None:
        self.conf = conf
        self.root = os.path.join(conf.state_path, 'vms')

    def prepare(self) -> None:
        """Create the records' directory, or tighten one an older kaon
        left readable by others; before a VM's files are written."""
        state_files.private_dir(self.root)

    def namespace(self, name: str) -> str:
        return naming.vm_namespace(self.conf.vm_namespace_prefix, name)

    def _path(self, name: str) -> str:
        return os.path.join(self.root, name, 'vm.json')

    def guest(self, vm: Vm) -> Guest:
        return Guest(vm.namespace, vm.tap, os.path.join(self.root, vm.name))

    def save(self, vm: Vm) -> None:
        path = self._path(vm.name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path + '.tmp', 'w') as f:
            json.dump(dataclasses.asdict(vm), f)
        os.replace(path + '.tmp', path)

    def get(self, name: str) -> Vm | None:
        try:
            with open(self._path(name)) as f:
                return Vm(**json.load(f))
        except (OSError, ValueError, TypeError):
            return None

    def require(self, name: str) -> Vm:
        vm = self.get(name)
        if vm is None:
            raise NoSuchVm(name)
        return vm

    def all(self) -> list[Vm]:
        if not os.path.isdir(self.root):
            return []
        found = (self.get(name) for name in sorted(os.listdir(self.root)))
        return [vm for vm in found if vm is not None]

    def remove(self, name: str) -> None:
        shutil.rmtree(os.path.join(self.root, name), ignore_errors=True)
