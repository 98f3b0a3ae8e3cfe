"""Settings pick each adapter; the embedded default needs nothing; secrets stay out of resource config."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from connectors.object_store import LocalObjectStore
from connectors.s3_store import S3ObjectStore
from perception.thresholds import SignalThresholds, ThresholdsError
from pipelines.resources import resources_for
from revloop.settings import load_settings


def test_the_embedded_defaults_need_no_configuration(tmp_path: Path) -> None:
    resources = resources_for(load_settings(data_dir=tmp_path))
    assert isinstance(resources["lake"].raw(), LocalObjectStore)
    assert resources["signal_rules"].thresholds() == SignalThresholds()
    assert resources["graph"].neptune_host is None
    assert resources["memory"].pinecone_index_host is None and resources["memory"].embedder == "local"


def test_threshold_overrides_come_from_a_yaml_file(tmp_path: Path) -> None:
    path = tmp_path / "thresholds.yaml"
    path.write_text("slip_min_days: 10\nslip_medium_days: 20\nstall_days:\n  qualification: 5\n"
                    "  discovery: 6\n  proposal: 7\n  negotiation: 8\n")
    rules = resources_for(load_settings(data_dir=tmp_path, signal_thresholds_file=path))["signal_rules"]
    thresholds = rules.thresholds()
    assert thresholds.slip_min_days == 10 and thresholds.stall_days["negotiation"] == 8
    assert thresholds.ghosted_days == SignalThresholds().ghosted_days


def test_a_bad_thresholds_file_names_the_key_and_a_missing_one_the_setting(tmp_path: Path) -> None:
    path = tmp_path / "thresholds.json"
    path.write_text('{"slip_min_days": 0, "no_such_threshold": 3}')
    rules = resources_for(load_settings(data_dir=tmp_path, signal_thresholds_file=path))["signal_rules"]
    with pytest.raises(ThresholdsError, match="slip_min_days") as error:
        rules.thresholds()
    assert "no_such_threshold" in str(error.value)
    missing = resources_for(load_settings(data_dir=tmp_path,
                                          signal_thresholds_file=tmp_path / "nope.yaml"))["signal_rules"]
    with pytest.raises(FileNotFoundError, match="REVLOOP_SIGNAL_THRESHOLDS_FILE"):
        missing.thresholds()


def test_raw_snapshots_go_to_s3_when_a_bucket_uri_is_set(tmp_path: Path) -> None:
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="raw-bucket")
        lake = resources_for(load_settings(data_dir=tmp_path, raw_store_uri="s3://raw-bucket/revloop"))["lake"]
        assert isinstance(lake.raw(), S3ObjectStore)


def test_the_pinecone_key_reaches_dagster_as_a_variable_name_never_as_its_value(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REVLOOP_PINECONE_API_KEY", "pcsk_very_secret_value")
    settings = load_settings(data_dir=tmp_path, pinecone_index_host="https://idx-abc.svc.pinecone.io",
                             neptune_host="db.cluster-x.us-east-1.neptune.amazonaws.com")
    memory = resources_for(settings)["memory"]
    assert memory.pinecone_api_key == "REVLOOP_PINECONE_API_KEY"
    assert "pcsk_very_secret_value" not in repr(memory) + repr(settings.model_dump())
    assert resources_for(settings)["graph"].neptune_host == settings.neptune_host


def test_the_decision_agent_is_the_playbook_by_default_and_bedrock_when_configured(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from decisioning.bedrock import BedrockAgent
    from decisioning.playbook import PlaybookAgent
    from tests.integration.test_world_model_memory_contract import FakeEmbedder
    from world_model.graph import open_gremlite_graph
    from world_model.memory import LanceDbMemory

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    for choice, kind in (("playbook", PlaybookAgent), ("bedrock", BedrockAgent)):
        resources = resources_for(load_settings(data_dir=tmp_path, decision_agent=choice))
        with open_gremlite_graph(tmp_path / "graph.sqlite") as graph:
            memory = LanceDbMemory(tmp_path / "vectors", FakeEmbedder())
            agent = resources["agent"].build(resources["db"], graph, memory, lake=resources["lake"])
        assert isinstance(agent, kind)


def test_the_crm_writer_and_notifiers_follow_the_settings_and_keep_secrets_out_of_config(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from actions.hubspot_writer import HubSpotCrmWriter
    from connectors.demo.crm import DemoCrm

    resources = resources_for(load_settings(data_dir=tmp_path))
    resources["demo_world"].world()  # creates the demo world the demo CRM writes to
    assert isinstance(resources["executors"].crm(resources["demo_world"]), DemoCrm)
    assert resources["executors"].notifiers() == []

    monkeypatch.setenv("REVLOOP_HUBSPOT_TOKEN", "pat-na1-secret-token")
    monkeypatch.setenv("REVLOOP_SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T/B/secretpart")
    settings = load_settings(data_dir=tmp_path, crm_writer="hubspot", ses_sender="revloop@vendor.example",
                             ses_region="eu-west-1")
    executors = resources_for(settings)["executors"]
    assert "secretpart" not in repr(executors) and "pat-na1" not in repr(executors)
    assert isinstance(executors.crm(resources["demo_world"]), HubSpotCrmWriter)
    assert executors.slack_webhook_url == "REVLOOP_SLACK_WEBHOOK_URL"


def test_a_crm_writer_without_credentials_says_which_variable_is_missing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REVLOOP_HUBSPOT_TOKEN", raising=False)
    resources = resources_for(load_settings(data_dir=tmp_path, crm_writer="hubspot"))
    with pytest.raises(Exception, match="REVLOOP_HUBSPOT_TOKEN"):
        resources["executors"].crm(resources["demo_world"])


def test_the_webhook_inbox_is_sql_by_default_and_sqs_when_its_queues_are_set(tmp_path: Path) -> None:
    from connectors.webhooks.inbox import WebhookInbox
    from connectors.webhooks.sqs_inbox import SqsWebhookInbox, create_inbox_queues

    assert isinstance(resources_for(load_settings(data_dir=tmp_path))["db"].inbox(), WebhookInbox)
    with mock_aws():
        queue_url, dead_letter_url = create_inbox_queues(boto3.client("sqs", region_name="eu-west-1"),
                                                         "revloop-webhooks", max_attempts=4)
        settings = load_settings(data_dir=tmp_path, webhook_sqs_queue_url=queue_url,
                                 webhook_sqs_dead_letter_url=dead_letter_url, webhook_max_attempts=4)
        inbox = resources_for(settings)["db"].inbox()
        assert isinstance(inbox, SqsWebhookInbox) and inbox.max_attempts == 4
        assert inbox.queue_url == queue_url
