"""Salesforce pull connector (Account, Contact, Opportunity, Task) over simple-salesforce."""

from connectors.salesforce.api import SalesforceApi, SalesforceRequestFailed
from connectors.salesforce.connector import SalesforceConnector, SalesforceFields

__all__ = ["SalesforceApi", "SalesforceConnector", "SalesforceFields", "SalesforceRequestFailed"]
