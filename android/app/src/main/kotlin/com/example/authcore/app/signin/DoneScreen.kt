package com.example.authcore.app.signin

import android.content.Intent
import android.net.Uri
import androidx.compose.material3.Button
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.produceState
import androidx.compose.ui.platform.LocalContext
import com.example.authcore.ClientException
import com.example.authcore.SignInState

@Composable
fun DoneScreen(state: SignInState.Done) {
    val email by produceState<String?>(null, state.session) {
        value = try {
            state.session.userInfo().email
        } catch (_: ClientException) {
            null
        }
    }
    SignInPage("Signed in", subtitle = email) {}
}

/** Federated / SSO: the system browser (the browser flow comes with a later issue). */
@Composable
fun OpenBrowserScreen(state: SignInState.OpenBrowser, vm: SignInViewModel) {
    val context = LocalContext.current
    SignInPage("Continue with ${state.method.displayName}", onBack = vm::cancel) {
        state.url?.let { url ->
            Button(onClick = { context.startActivity(Intent(Intent.ACTION_VIEW, Uri.parse(url))) }) {
                Text("Open browser")
            }
        }
        TextButton(onClick = vm::cancel) { Text("Cancel") }
    }
}
