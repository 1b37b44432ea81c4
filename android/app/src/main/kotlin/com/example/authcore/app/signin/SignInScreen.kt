package com.example.authcore.app.signin

import androidx.compose.runtime.Composable
import androidx.compose.runtime.DisposableEffect
import androidx.compose.runtime.getValue
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import androidx.lifecycle.viewmodel.compose.viewModel
import com.example.authcore.AuthClient
import com.example.authcore.SignInState

/** One screen per [SignInState]; nothing is decided here that the state does not say. */
@Composable
fun SignInScreen(client: AuthClient, vm: SignInViewModel = viewModel { SignInViewModel(client) }) {
    val state by vm.state.collectAsStateWithLifecycle()
    val error by vm.error.collectAsStateWithLifecycle()
    val busy by vm.busy.collectAsStateWithLifecycle()

    // The phone screens wait for the phone while shown; leaving them cancels the wait.
    val waitsForPhone = state is SignInState.ApprovePush ||
        state is SignInState.ActivateAuthenticator ||
        state is SignInState.ApproveTestPush
    DisposableEffect(state, waitsForPhone) {
        if (waitsForPhone) vm.startWaiting()
        onDispose { vm.stopWaiting() }
    }

    when (val s = state) {
        is SignInState.EnterIdentifier -> IdentifierScreen(error, busy, vm::start)
        is SignInState.UseSignInHost -> SignInPage("Continuing at ${s.host}") {}
        is SignInState.ChooseMethod -> MethodListScreen(s, error, busy, vm)
        is SignInState.ChooseSecondFactor -> SecondFactorScreen(s, error, busy, vm)
        is SignInState.EnterPassword -> PasswordScreen(s, error, busy, vm)
        is SignInState.ChooseNewPassword -> NewPasswordScreen(s, error, busy, vm)
        is SignInState.EnterCode -> CodeScreen(s, error, busy, vm)
        is SignInState.EnterTotp -> TotpScreen(s, error, busy, vm)
        is SignInState.EnterBackupCode -> BackupCodeScreen(s, error, busy, vm)
        is SignInState.ApprovePush -> ApprovePushScreen(s, error, vm)
        is SignInState.EnrollAuthenticator -> EnrollScreen(s, error, busy, vm)
        is SignInState.ActivateAuthenticator -> ActivateScreen(s, error, vm)
        is SignInState.ApproveTestPush -> ApproveTestPushScreen(s, error, vm)
        is SignInState.OpenBrowser -> OpenBrowserScreen(s, vm)
        is SignInState.Done -> DoneScreen(s)
        is SignInState.Failed -> FailedScreen(s, busy, vm::start)
    }
}
