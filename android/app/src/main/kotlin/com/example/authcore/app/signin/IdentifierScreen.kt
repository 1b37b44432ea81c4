package com.example.authcore.app.signin

import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.text.KeyboardOptions
import androidx.compose.material3.Button
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.saveable.rememberSaveable
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.text.input.KeyboardType
import com.example.authcore.SignInState

/** "Sign in": email or phone. Gesture: `start`. */
@Composable
fun IdentifierScreen(error: String?, busy: Boolean, onStart: (String) -> Unit) {
    var identifier by rememberSaveable { mutableStateOf("") }
    SignInPage("Sign in", error = error) {
        OutlinedTextField(
            value = identifier,
            onValueChange = { identifier = it },
            label = { Text("Email or phone") },
            singleLine = true,
            keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.Email),
            modifier = Modifier.fillMaxWidth(),
        )
        Button(onClick = { onStart(identifier) }, enabled = !busy) { Text("Next") }
    }
}

/** The flow cannot continue: why (the typed error, in the app's words), and start again. */
@Composable
fun FailedScreen(state: SignInState.Failed, busy: Boolean, onStart: (String) -> Unit) {
    IdentifierScreen(error = errorText(state.reason), busy = busy, onStart = onStart)
}
