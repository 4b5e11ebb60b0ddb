-- OCPP 2.0.1 operator commands (issue 19) through the same commands table as 1.6's: the
-- check on action takes 2.0.1's names too (ingest/ocpp/admin.py ACTIONS_2_0_1). Which version a
-- command goes out in is the connection's (Central.send_command): a 1.6 action sent to a 2.0.1
-- station fails with its reason, so the table need not know the charge point's version.
ALTER TABLE wattline.commands DROP CONSTRAINT commands_action_check;
ALTER TABLE wattline.commands ADD CONSTRAINT commands_action_check CHECK (action IN (
    'RemoteStartTransaction', 'RemoteStopTransaction', 'Reset', 'UnlockConnector',
    'ChangeAvailability', 'ChangeConfiguration', 'GetConfiguration', 'TriggerMessage',
    'RequestStartTransaction', 'RequestStopTransaction', 'GetVariables', 'SetVariables',
    'GetBaseReport'));
