"""The OPC UA server (OPC 40100 Machine Vision), an optional output of the line.

asyncua (``pip install 'inspector[opcua]'``) is imported only when the server starts.
"""

from __future__ import annotations

from inspector.opcua.config import OpcUaConfig
from inspector.opcua.server import OpcUaServer, OpcUaStats
from inspector.opcua.state import LineState, PartResult, RecipeBook, VisionState

__all__ = ["LineState", "OpcUaConfig", "OpcUaServer", "OpcUaStats", "PartResult", "RecipeBook", "VisionState"]
