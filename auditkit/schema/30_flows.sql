-- Family "flows": network flow records from VPC Flow Logs, Hubble and Zeek, in one shape.
CREATE TABLE IF NOT EXISTS flows (
    source_sha256 VARCHAR NOT NULL,
    locator       VARCHAR NOT NULL,
    flow_format   VARCHAR NOT NULL,       -- aws-vpc-flow | hubble | zeek-conn
    sensor        VARCHAR,                -- ENI id, Hubble node, Zeek sensor/path
    start_time    TIMESTAMP,
    end_time      TIMESTAMP,
    src_ip        VARCHAR,
    src_port      INTEGER,
    dst_ip        VARCHAR,
    dst_port      INTEGER,
    protocol      VARCHAR,                -- tcp | udp | icmp | icmpv6 | sctp | <number>
    packets       BIGINT,
    bytes         BIGINT,
    action        VARCHAR,                -- allowed | denied | attempted | NULL (no data)
    verdict_raw   VARCHAR,                -- ACCEPT/REJECT, FORWARDED/DROPPED, Zeek conn_state
    log_status    VARCHAR,                -- OK | NODATA | SKIPDATA (VPC)
    is_reply      BOOLEAN,                -- NULL when the format cannot tell
    direction     VARCHAR,                -- ingress | egress when reported
    src_namespace VARCHAR,
    src_pod       VARCHAR,
    src_workload  VARCHAR,
    src_labels    VARCHAR[],
    dst_namespace VARCHAR,
    dst_pod       VARCHAR,
    dst_workload  VARCHAR,
    dst_labels    VARCHAR[],
    service       VARCHAR,                -- Zeek service / L7 protocol when known
    drop_reason   VARCHAR,
    account_id    VARCHAR,
    interface_id  VARCHAR,
    vpc_id        VARCHAR,
    subnet_id     VARCHAR,
    instance_id   VARCHAR,
    pkt_src_ip    VARCHAR,
    pkt_dst_ip    VARCHAR,
    tcp_flags     INTEGER
);

-- Added after the first release: ALTER keeps existing stores in step (idempotent).
ALTER TABLE flows ADD COLUMN IF NOT EXISTS flow_id VARCHAR;   -- Zeek uid, Hubble flow uuid
ALTER TABLE flows ADD COLUMN IF NOT EXISTS policies JSON;     -- Hubble {ingress,egress}_{allowed,denied}_by as written
ALTER TABLE flows ADD COLUMN IF NOT EXISTS conn_history VARCHAR; -- Zeek history (who sent SYN, SYN-ACK...) as written
