import { MantineProvider } from '@mantine/core';
import { Notifications } from '@mantine/notifications';
import { BrowserRouter, Navigate, Route, Routes } from 'react-router';

import { AuthProvider } from './auth/AuthContext';
import { RequireAuth } from './auth/RequireAuth';
import { SignInPage } from './auth/SignInPage';
import { NotFoundPage } from './NotFoundPage';
import { Shell } from './Shell';
import { theme } from './theme';
import { UserDetailPage } from './user-detail/UserDetailPage';
import { CreateUserPage } from './user-form/CreateUserPage';
import { EditUserPage } from './user-form/EditUserPage';
import { UsersPage } from './users/UsersPage';

export function App() {
  return (
    <MantineProvider theme={theme}>
      {/* Bottom, so toasts never cover the header or a page's actions. */}
      <Notifications position="bottom-right" />
      <AuthProvider>
        <BrowserRouter>
          <Routes>
            <Route path="/sign-in" element={<SignInPage />} />
            <Route
              element={
                <RequireAuth>
                  <Shell />
                </RequireAuth>
              }
            >
              <Route index element={<Navigate to="/users" replace />} />
              <Route path="users" element={<UsersPage />} />
              <Route path="users/new" element={<CreateUserPage />} />
              <Route path="users/:id" element={<UserDetailPage />} />
              <Route path="users/:id/edit" element={<EditUserPage />} />
              <Route path="*" element={<NotFoundPage />} />
            </Route>
          </Routes>
        </BrowserRouter>
      </AuthProvider>
    </MantineProvider>
  );
}
