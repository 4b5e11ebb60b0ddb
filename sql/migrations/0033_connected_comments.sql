-- The SQL interface describes itself (0030): comments for the view 0025 added.
SELECT wattline_admin.comment_relation('wattline.connected_charge_points',
    'Charge points a central system process holds a WebSocket connection for right now (from '
    'the advisory locks those processes hold; a dead process holds none).');
COMMENT ON COLUMN wattline.connected_charge_points.charge_point_id IS
    'OCPP identity of a connected charge point';
