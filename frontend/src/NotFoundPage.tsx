import { Button, EmptyState } from '@mantine/core';
import { Link } from 'react-router';

export function NotFoundPage() {
  return (
    <EmptyState
      mt="xl"
      title="Nothing here"
      description="This address is not a page of the panel."
      icon={<span aria-hidden="true">?</span>}
      withIndicatorBackground
    >
      <EmptyState.Actions>
        <Button component={Link} to="/users">
          Go to users
        </Button>
      </EmptyState.Actions>
    </EmptyState>
  );
}
