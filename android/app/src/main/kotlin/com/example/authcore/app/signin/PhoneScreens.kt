package com.example.authcore.app.signin

import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import com.example.authcore.SignInState

/** "Approve sign in request": the number to enter on the phone. The screen waits for the phone. */
@Composable
fun ApprovePushScreen(state: SignInState.ApprovePush, error: String?, vm: SignInViewModel) {
    SignInPage(
        "Approve sign in request",
        subtitle = "Open your authenticator app and enter the number shown to sign in.",
        error = error,
        onBack = vm::back,
    ) {
        Text(state.number, style = MaterialTheme.typography.displayLarge)
        TextButton(onClick = vm::resendPush) { Text("Send another request") }
    }
}

/** The last step of enrollment: approve the test notification on the new authenticator. */
@Composable
fun ApproveTestPushScreen(state: SignInState.ApproveTestPush, error: String?, vm: SignInViewModel) {
    SignInPage(
        "Approve the test notification",
        subtitle = "Enter this number on your phone to finish setting up.",
        error = error,
        onBack = vm::cancel,
    ) {
        Text(state.number, style = MaterialTheme.typography.displayLarge)
    }
}
