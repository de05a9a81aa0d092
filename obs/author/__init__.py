"""The authoring API: everything content modules (dashboards/, datasources/, alerts/, stack/) import besides
the catalog. Panels, layout, the shared dashboard frame and variables; trace panels; alert and recording
rules; Alertmanager routing; the stack's services and configs; datasources."""
