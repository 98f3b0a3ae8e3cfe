"""HubSpot pull connector (companies, contacts, deals, notes, tasks) over hubspot-api-client."""

from connectors.hubspot.api import HubSpotApi, HubSpotRequestFailed
from connectors.hubspot.connector import HubSpotConnector, HubSpotFields, SearchWindowExceeded

__all__ = ["HubSpotApi", "HubSpotConnector", "HubSpotFields", "HubSpotRequestFailed", "SearchWindowExceeded"]
