import { Alert, Button, Group, Stack, Table, Text } from '@mantine/core';

import { IconAlert } from '../ui/Icons';
import { REVEAL_MARGIN, useRevealed } from '../ui/useRevealed';
import { changedFields, displayValue, FIELD_LABELS, sameField, type UserFormValues } from './formValues';

interface Props {
  /** What this form loaded. */
  loaded: UserFormValues;
  /** What is in the form now. */
  mine: UserFormValues;
  /** What someone else saved since. */
  theirs: UserFormValues;
  theirVersion: number;
  /** Set when a save was refused, not just noticed through a live update. */
  refused: boolean;
  onUseTheirs: () => void;
  onKeepMine: () => void;
}

function Value({ text }: { text: string }) {
  return text ? (
    <Text size="sm" style={{ wordBreak: 'break-word' }}>
      {text}
    </Text>
  ) : (
    <Text size="sm" c="dimmed" fs="italic">
      empty
    </Text>
  );
}

/** Someone else saved first: show what they changed next to my edit of it. */
export function ConflictNotice({ loaded, mine, theirs, theirVersion, refused, onUseTheirs, onKeepMine }: Props) {
  const theirChanges = changedFields(loaded, theirs);
  const mineChanged = new Set(changedFields(loaded, mine));
  const clashes = theirChanges.filter((f) => mineChanged.has(f) && !sameField(f, mine, theirs));
  const ref = useRevealed<HTMLDivElement>(refused);
  return (
    <Alert
      ref={ref}
      tabIndex={-1}
      style={REVEAL_MARGIN}
      color="orange"
      variant="light"
      icon={<IconAlert />}
      role="alert"
      title={refused ? 'Not saved: someone else saved this user first' : 'Someone else changed this user while you were editing'}
      data-testid="conflict"
    >
      <Stack gap="sm">
        <Text size="sm">
          Their version {theirVersion} changed {theirChanges.length || 'no'} field{theirChanges.length === 1 ? '' : 's'}
          {clashes.length > 0 && `, ${clashes.length} of which you also edited`}. Nothing of yours is lost yet.
        </Text>
        {theirChanges.length > 0 && (
          <Table.ScrollContainer minWidth={360} type="native">
            <Table withTableBorder withColumnBorders bg="white" fz="sm">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Field</Table.Th>
                  <Table.Th>Their version</Table.Th>
                  <Table.Th>Your edit</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {theirChanges.map((field) => (
                  <Table.Tr key={field}>
                    <Table.Th scope="row">{FIELD_LABELS[field]}</Table.Th>
                    <Table.Td>
                      <Value text={displayValue(theirs, field)} />
                    </Table.Td>
                    <Table.Td>
                      {mineChanged.has(field) ? (
                        <Value text={displayValue(mine, field)} />
                      ) : (
                        <Text size="sm" c="dimmed">
                          not edited
                        </Text>
                      )}
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
        <Group gap="xs">
          <Button size="xs" variant="white" color="orange" onClick={onUseTheirs}>
            Reload their version
          </Button>
          <Button size="xs" color="orange" onClick={onKeepMine}>
            Keep my edits on top of theirs
          </Button>
        </Group>
        <Text size="xs" c="dimmed">
          “Reload” drops your edits. “Keep” takes their version and re-applies only the fields you edited; then save
          again.
        </Text>
      </Stack>
    </Alert>
  );
}
