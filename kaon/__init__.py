"""kaon: a Neutron-compatible network control plane for VMs."""
import warnings

# oslo.service imports eventlet and warns about it at import time; kaon uses
# threads, not eventlet, so the warning is only noise on every command.
warnings.filterwarnings('ignore', message=r'(?s).*Eventlet is deprecated')
