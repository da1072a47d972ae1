"""libnftables in-process: one nftables script, one kernel transaction.

`nft -f` parses a whole script and commits it as one netlink batch: every
command in it happens, or none does.  libnftables (Debian's libnftables1,
which the `nft` binary itself links) offers exactly that call,
nft_run_cmd_from_buffer, so the firewall calls it through ctypes rather
than forking `nft` per change (Debian's python3-nftables is the same
ctypes binding, but lives outside the venv).  A context is not
thread-safe: one lock per context.
"""
from __future__ import annotations

import ctypes
import json
import threading
from typing import Any

LIBRARY = 'libnftables.so.1'
# libnftables.h: enum nft_output_flags
OUTPUT_JSON = 1 << 4


class NftError(RuntimeError):
    """The kernel or the parser refused a script; nothing of it applied."""


class Nft:
    """One libnftables context."""

    def __init__(self) -> None:
        try:
            lib = ctypes.CDLL(LIBRARY)
        except OSError as err:
            raise NftError(f'{LIBRARY} not loadable ({err}); install '
                           'Debian\'s nftables (./dev setup)') from None
        lib.nft_ctx_new.restype = ctypes.c_void_p
        lib.nft_ctx_new.argtypes = [ctypes.c_uint32]
        lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p,
                                                ctypes.c_char_p]
        for getter in ('nft_ctx_get_output_buffer',
                       'nft_ctx_get_error_buffer'):
            getattr(lib, getter).restype = ctypes.c_char_p
            getattr(lib, getter).argtypes = [ctypes.c_void_p]
        for call in ('nft_ctx_buffer_output', 'nft_ctx_buffer_error',
                     'nft_ctx_output_get_flags'):
            getattr(lib, call).argtypes = [ctypes.c_void_p]
        lib.nft_ctx_output_get_flags.restype = ctypes.c_uint
        lib.nft_ctx_output_set_flags.argtypes = [ctypes.c_void_p,
                                                 ctypes.c_uint]
        self._lib = lib
        self._ctx = lib.nft_ctx_new(0)
        lib.nft_ctx_buffer_output(self._ctx)
        lib.nft_ctx_buffer_error(self._ctx)
        self._lock = threading.Lock()

    def run(self, script: str) -> str:
        """Apply `script` atomically; its output (for `list` commands).

        :raises NftError: with nft's own message when refused."""
        with self._lock:
            return self._run(script)

    def _run(self, script: str) -> str:
        rc = self._lib.nft_run_cmd_from_buffer(self._ctx, script.encode())
        out = self._lib.nft_ctx_get_output_buffer(self._ctx) or b''
        err = self._lib.nft_ctx_get_error_buffer(self._ctx) or b''
        if rc != 0:
            raise NftError(err.decode(errors='replace').strip()
                           or f'nft failed (rc {rc})')
        return str(out.decode())

    def list_json(self, command: str) -> list[dict[str, Any]]:
        """`nft -j <command>`'s objects ([] when the object is absent).

        :raises NftError: any other failure."""
        with self._lock:
            flags = self._lib.nft_ctx_output_get_flags(self._ctx)
            self._lib.nft_ctx_output_set_flags(self._ctx, flags | OUTPUT_JSON)
            try:
                text = self._run(command)
            except NftError as err:
                if 'No such file or directory' in str(err):
                    return []
                raise
            finally:
                self._lib.nft_ctx_output_set_flags(self._ctx, flags)
        objects: list[dict[str, Any]] = json.loads(text)['nftables']
        return objects
