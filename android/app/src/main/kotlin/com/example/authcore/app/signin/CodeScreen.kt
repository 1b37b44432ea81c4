package com.example.authcore.app.signin

import androidx.compose.material3.Button
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableLongStateOf
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import com.example.authcore.core.CodePurpose
import com.example.authcore.SignInState
import kotlinx.coroutines.delay

/**
 * "Enter the code sent to a***@acme.example". The resend countdown starts at the state's
 * `resendAfterSeconds` (seconds from when the state arrived) and ticks down each second; a new
 * state (after "Resend code") restarts it.
 */
@Composable
fun CodeScreen(state: SignInState.EnterCode, error: String?, busy: Boolean, vm: SignInViewModel) {
    var code by remember(state) { mutableStateOf("") }
    var resendIn by remember(state) { mutableLongStateOf(state.resendAfterSeconds.toLong()) }
    LaunchedEffect(state) {
        while (resendIn > 0) {
            delay(1_000)
            resendIn -= 1
        }
    }
    val title = when (state.purpose) {
        CodePurpose.SIGN_IN -> "Enter your code"
        CodePurpose.VERIFY_DEVICE -> "Confirm it's you"
        CodePurpose.PASSWORD_RESET -> "Reset your password"
    }
    SignInPage(title, subtitle = "Enter the code sent to ${state.destinationHint}", error = error, onBack = vm::back) {
        CodeField(code, state.length.toInt()) { code = it }
        Button(onClick = { vm.submitCode(code) }, enabled = !busy) { Text("Verify") }
        TextButton(onClick = vm::resendCode, enabled = !busy && resendIn <= 0) {
            Text(if (resendIn > 0) "Resend code in ${resendIn}s" else "Resend code")
        }
    }
}

@Composable
fun TotpScreen(state: SignInState.EnterTotp, error: String?, busy: Boolean, vm: SignInViewModel) {
    var code by remember(state) { mutableStateOf("") }
    SignInPage("Enter the code from your authenticator app", error = error, onBack = vm::back) {
        CodeField(code, state.length.toInt()) { code = it }
        Button(onClick = { vm.submitCode(code) }, enabled = !busy) { Text("Verify") }
    }
}

@Composable
fun BackupCodeScreen(state: SignInState.EnterBackupCode, error: String?, busy: Boolean, vm: SignInViewModel) {
    var code by remember(state) { mutableStateOf("") }
    SignInPage("Enter a backup code", subtitle = "${state.remaining} backup codes left", error = error, onBack = vm::back) {
        SecretField(code, "Backup code") { code = it }
        Button(onClick = { vm.submitCode(code) }, enabled = !busy) { Text("Verify") }
    }
}
