import { Anchor, AppShell, Box, Button, Group, Text, Tooltip, VisuallyHidden } from '@mantine/core';
import { Link, Outlet } from 'react-router';

import { useLive } from './api/ApiProvider';
import { useAuth } from './auth/AuthContext';
import { IconExternal } from './ui/Icons';
import classes from './Shell.module.css';

function LiveIndicator() {
  const { connected } = useLive();
  const label = connected ? 'Live updates on' : 'Live updates reconnecting';
  return (
    <Tooltip label={label} events={{ hover: true, focus: true, touch: true }}>
      <Group gap={6} wrap="nowrap" tabIndex={0} aria-label={label} role="status">
        <Box className={classes.dot} data-connected={connected || undefined} />
        <Text size="sm" c="dimmed" visibleFrom="sm">
          {connected ? 'Live' : 'Reconnecting…'}
        </Text>
      </Group>
    </Tooltip>
  );
}

export function Shell() {
  const { token, signOut } = useAuth();
  return (
    <AppShell header={{ height: 56 }} padding="md">
      <a href="#main" className={classes.skip}>
        Skip to content
      </a>
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Anchor component={Link} to="/users" underline="never" c="inherit" fw={700} fz="lg">
            Tandem
          </Anchor>
          <Group gap="sm" wrap="nowrap">
            <LiveIndicator />
            <Button
              component="a"
              // The fragment signs GraphiQL in; it never leaves the browser.
              href={`/graphiql#token=${encodeURIComponent(token ?? '')}`}
              target="_blank"
              rel="noopener noreferrer"
              variant="subtle"
              size="compact-sm"
              rightSection={<IconExternal size={14} />}
            >
              GraphiQL
              <VisuallyHidden> (opens in a new tab)</VisuallyHidden>
            </Button>
            <Button variant="default" size="compact-sm" onClick={() => signOut()}>
              Sign out
            </Button>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Main id="main" tabIndex={-1} className={classes.main}>
        <Outlet />
      </AppShell.Main>
    </AppShell>
  );
}
