import { Alert, Button, Center, Code, Paper, PasswordInput, Stack, Text, Title } from '@mantine/core';
import { useState, type FormEvent } from 'react';
import { Navigate, useLocation } from 'react-router';

import { useAuth } from './AuthContext';

export function SignInPage() {
  const { token, notice, signIn } = useAuth();
  const location = useLocation();
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [checking, setChecking] = useState(false);
  const from = (location.state as { from?: string } | null)?.from ?? '/users';

  if (token) return <Navigate to={from} replace />;

  async function submit(event: FormEvent) {
    event.preventDefault();
    const candidate = value.trim();
    if (!candidate) {
      setError('Paste the admin token.');
      return;
    }
    setChecking(true);
    setError(null);
    try {
      // Asked before storing, so a typo gets an answer here, not a bounce later.
      const response = await fetch('/graphql', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${candidate}` },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
      if (response.status === 401) setError('The server did not accept this token.');
      else if (!response.ok) setError(`The server answered ${response.status}. Try again.`);
      else signIn(candidate);
    } catch {
      setError('Cannot reach the Tandem server. Check that it is running.');
    } finally {
      setChecking(false);
    }
  }

  return (
    <Center mih="100vh" p="md" bg="gray.0">
      <Paper component="main" withBorder shadow="sm" p="xl" w="100%" maw={420}>
        <form onSubmit={submit} noValidate>
          <Stack>
            <div>
              <Title order={1} size="h2">
                Tandem
              </Title>
              <Text c="dimmed" size="sm">
                Users, kept in sync with Clerk.
              </Text>
            </div>
            {notice && (
              <Alert color="orange" variant="light" role="alert" title="Signed out">
                {notice}
              </Alert>
            )}
            <PasswordInput
              label="Admin token"
              description={
                <>
                  The server prints it at start, or set it with <Code>TANDEM_ADMIN_TOKEN</Code>.
                </>
              }
              value={value}
              onChange={(e) => setValue(e.currentTarget.value)}
              error={error}
              autoComplete="current-password"
              data-autofocus
              autoFocus
            />
            <Button type="submit" loading={checking}>
              Sign in
            </Button>
          </Stack>
        </form>
      </Paper>
    </Center>
  );
}
