import { Alert, Button, Center, Loader, Stack, Text } from '@mantine/core';

import { describeError, toApiError } from '../api/errors';
import type { CombinedError } from '@urql/core';
import { IconAlert } from './Icons';

export function LoadingState({ label }: { label: string }) {
  return (
    <Center py="xl" role="status" aria-live="polite">
      <Stack align="center" gap="xs">
        <Loader size="md" />
        <Text c="dimmed" size="sm">
          {label}
        </Text>
      </Stack>
    </Center>
  );
}

export function ErrorState({ error, title, onRetry }: { error: CombinedError; title: string; onRetry?: () => void }) {
  return (
    <Alert color="red" variant="light" title={title} icon={<IconAlert />} role="alert">
      <Stack gap="sm" align="flex-start">
        <Text size="sm">{describeError(toApiError(error))}</Text>
        {onRetry && (
          <Button size="xs" variant="white" color="red" onClick={onRetry}>
            Try again
          </Button>
        )}
      </Stack>
    </Alert>
  );
}
