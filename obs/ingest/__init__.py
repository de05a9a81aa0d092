"""Bringing existing Grafana dashboards into code (`obs import`): read, migrate, adapt, generate, prove.

    read       obs.ingest.read (files), obs.ingest.live (a running Grafana)
    migrate    obs.ingest.migrate, obs.ingest.upgrades, obs.ingest.legacy, obs.ingest.datasources: Grafana's own
               migrations
    adapt      obs.ingest.adapt: inputs, datasources, uid and tag for this project
    generate   obs.ingest.generate, obs.ingest.match, obs.ingest.code: a module that reads like the project's
    prove      obs.ingest.verify: the module builds back to the same dashboard
    together   obs.ingest.importer: plan everything, then write
"""
